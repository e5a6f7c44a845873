# Install the build tree into a scratch prefix, then configure, build and run tests/consumer against it, both
# ways (the CMake package with components, and pkg-config), and check that an unknown component fails clearly.
# cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... [-DPREFIX=<installed root>] [-DVERSION=0.1] -P check.cmake
# With PREFIX (e.g. a root that .deb files were extracted into), nothing is installed: that prefix is used.
if(NOT VERSION)
    set(VERSION 0.1)
endif()
file(REMOVE_RECURSE ${WORK_DIR})
if(NOT PREFIX)
    set(PREFIX ${WORK_DIR}/prefix)
    execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX}
        RESULT_VARIABLE rc OUTPUT_QUIET)
    if(rc)
        message(FATAL_ERROR "install failed: ${rc}")
    endif()
    file(GLOB not_programs ${PREFIX}/bin/bench_* ${PREFIX}/bin/example_* ${PREFIX}/bin/test_*)
    if(not_programs)
        message(FATAL_ERROR "benchmarks, examples or tests installed: ${not_programs}")
    endif()
endif()
file(GLOB_RECURSE pc_files ${PREFIX}/*/pirates-majordomo.pc)
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir ${pc_file} DIRECTORY)

function(run what)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(rc)
        message(FATAL_ERROR "${what} failed (${rc}):\n${out}")
    endif()
endfunction()

foreach(way cmake pkg-config)
    set(build ${WORK_DIR}/build-${way})
    run("configure (${way})" ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_dir}
        ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${build} -G Ninja -DCMAKE_PREFIX_PATH=${PREFIX}
        -DCONSUMER_WITH=${way} -DPIRATES_VERSION=${VERSION})
    run("build (${way})" ${CMAKE_COMMAND} --build ${build})
    run("consumer (${way})" ${build}/consumer)
    message(STATUS "consumer built (${way}) and ran against ${PREFIX}")
endforeach()

# A component that is not a module: configure fails and says which.
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build-bad -G Ninja
    -DCMAKE_PREFIX_PATH=${PREFIX} -DCONSUMER_BAD_COMPONENT=ON -DPIRATES_VERSION=${VERSION}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc OR NOT out MATCHES "unknown component 'no_such_module'")
    message(FATAL_ERROR "an unknown component should fail with a clear message (rc ${rc}):\n${out}")
endif()
message(STATUS "an unknown component fails: unknown component 'no_such_module'")
