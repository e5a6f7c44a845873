# Man pages: one per installed program, generated at build time by help2man from the program's --help, with
# the NAME, DESCRIPTION, EXIT STATUS and SEE ALSO of dist/man/<program>.h2m. Part of the default build (15 runs
# of --help); skipped with a message when help2man is missing, in a sanitizer build, or when PIRATES_BUILD_MAN
# is OFF. Installed (component programs) under share/man/man1, gzipped as Debian wants them.
option(PIRATES_BUILD_MAN "Generate the programs' man pages with help2man" ON)

function(pirates_man_pages)
    if(NOT PIRATES_BUILD_MAN)
        return()
    endif()
    if(CMAKE_CXX_FLAGS MATCHES "-fsanitize")  # never installed; and a sanitizer report would fail the build
        message(STATUS "pirates: sanitizer build, man pages skipped")
        return()
    endif()
    find_program(PIRATES_HELP2MAN help2man)
    find_program(PIRATES_GZIP gzip)
    if(NOT PIRATES_HELP2MAN OR NOT PIRATES_GZIP)
        message(STATUS "pirates: help2man or gzip not found, man pages skipped")
        return()
    endif()
    get_property(programs GLOBAL PROPERTY PIRATES_INSTALLED_PROGRAMS)
    set(pages "")
    foreach(program IN LISTS programs)
        set(include ${PROJECT_SOURCE_DIR}/dist/man/${program}.h2m)
        if(NOT EXISTS ${include})
            set(include ${PROJECT_SOURCE_DIR}/dist/man/generic.h2m)
        endif()
        set(page ${PROJECT_BINARY_DIR}/man/${program}.1)
        # --version-string: help2man runs only --help; --no-info: no "see the Texinfo manual" paragraph.
        add_custom_command(OUTPUT ${page}.gz
            COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C.UTF-8
                ${PIRATES_HELP2MAN} --no-info --version-string=${PROJECT_VERSION} --section=1
                --source=pirates --manual="pirates ${PROJECT_VERSION}"
                --include=${include} --output=${page} $<TARGET_FILE:${program}>
            COMMAND ${PIRATES_GZIP} -9nf ${page}
            DEPENDS ${program} ${include}
            COMMENT "man page ${program}.1"
            VERBATIM)
        list(APPEND pages ${page}.gz)
    endforeach()
    add_custom_target(pirates_man ALL DEPENDS ${pages})
    install(FILES ${pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT programs)
endfunction()
pirates_man_pages()
