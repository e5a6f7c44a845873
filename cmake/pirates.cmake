# Helpers every module uses, so that each module's CMakeLists.txt stays a few lines long.

# Install components (cmake/packaging.cmake makes one Debian package of each):
#   programs  the reference programs, systemd units, example configs, man pages  -> pirates_<v>_<arch>.deb
#   dev       headers, libraries, the CMake package, pkg-config files           -> libpirates-dev_<v>_<arch>.deb
# A shared library (BUILD_SHARED_LIBS=ON) goes with the programs that need it; its .so link with dev.
# An install() that names no component installs with dev (CPack packages no other component).
set(CMAKE_INSTALL_DEFAULT_COMPONENT_NAME dev)

# Warnings for our own code only (never for third-party headers).
function(pirates_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror)
endfunction()

# pirates_module(<name> SOURCES ... DEPENDS ...): library pirates::<name> with public headers under
# <name>/include, installed and exported. Shared builds carry VERSION and SOVERSION (major.minor while the
# major is 0: every 0.x release may break the ABI).
function(pirates_module name)
    cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS" ${ARGN})
    add_library(pirates_${name} ${ARG_SOURCES})
    add_library(pirates::${name} ALIAS pirates_${name})
    if(PROJECT_VERSION_MAJOR EQUAL 0)
        set(soversion ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
    else()
        set(soversion ${PROJECT_VERSION_MAJOR})
    endif()
    set_target_properties(pirates_${name} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME pirates_${name}
        VERSION ${PROJECT_VERSION} SOVERSION ${soversion})
    target_include_directories(pirates_${name} PUBLIC
        $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
        $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    target_link_libraries(pirates_${name} PUBLIC ${ARG_DEPENDS})
    pirates_warnings(pirates_${name})
    install(TARGETS pirates_${name} EXPORT piratesTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT programs NAMELINK_COMPONENT dev)
    install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
    set_property(GLOBAL APPEND PROPERTY PIRATES_INSTALLED_MODULES ${name})
endfunction()

# pirates_app(<name> <source> DEPENDS ... [NO_INSTALL]): a reference executable in build/bin/, installed
# (with a man page, cmake/man.cmake) unless NO_INSTALL (benchmarks, examples).
function(pirates_app name source)
    cmake_parse_arguments(ARG "NO_INSTALL" "" "DEPENDS" ${ARGN})
    add_executable(${name} ${source})
    target_link_libraries(${name} PRIVATE ${ARG_DEPENDS})
    pirates_warnings(${name})
    if(NOT ARG_NO_INSTALL)
        install(TARGETS ${name} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT programs)
        set_property(GLOBAL APPEND PROPERTY PIRATES_INSTALLED_PROGRAMS ${name})
    endif()
endfunction()
