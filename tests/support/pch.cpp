// The precompiled header that every test program reuses is compiled with this (empty) file: tests/CMakeLists.txt.
