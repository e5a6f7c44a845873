// The precompiled header every test program reuses is compiled with this empty file (tests/CMakeLists.txt).
