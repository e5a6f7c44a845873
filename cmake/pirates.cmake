# Helpers every module uses, so that each module's CMakeLists.txt stays a few lines long.

# Warnings for our own code only (never for third-party headers).
function(pirates_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror)
endfunction()

# pirates_module(<name> SOURCES ... DEPENDS ...): library pirates::<name> with public headers under
# <name>/include, installed and exported.
function(pirates_module name)
    cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS" ${ARGN})
    add_library(pirates_${name} ${ARG_SOURCES})
    add_library(pirates::${name} ALIAS pirates_${name})
    set_target_properties(pirates_${name} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME pirates_${name})
    target_include_directories(pirates_${name} PUBLIC
        $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
        $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    target_link_libraries(pirates_${name} PUBLIC ${ARG_DEPENDS})
    pirates_warnings(pirates_${name})
    install(TARGETS pirates_${name} EXPORT piratesTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
    install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()

# pirates_app(<name> <source> DEPENDS ...): a reference executable in build/bin/, installed.
function(pirates_app name source)
    cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
    add_executable(${name} ${source})
    target_link_libraries(${name} PRIVATE ${ARG_DEPENDS})
    pirates_warnings(${name})
    install(TARGETS ${name} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endfunction()
