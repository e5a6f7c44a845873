# What `cmake --install` and `./pirates package` (CPack, Debian packages) install, in two components:
#   programs -> pirates_<version>_<arch>.deb: the reference programs, man pages, systemd units, example configs
#   dev      -> libpirates-dev_<version>_<arch>.deb: headers, libraries, the CMake package, pkg-config files
# Benchmarks and examples are not installed (pirates_app NO_INSTALL, plain add_executable).
# Included by the top-level CMakeLists.txt after every module.
include(CMakePackageConfigHelpers)

# The CMake package: find_package(pirates [version] [COMPONENTS <module>...]).
get_property(PIRATES_CONFIG_MODULES GLOBAL PROPERTY PIRATES_INSTALLED_MODULES)
install(EXPORT piratesTargets NAMESPACE pirates:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/pirates COMPONENT dev)
configure_package_config_file(cmake/piratesConfig.cmake.in ${PROJECT_BINARY_DIR}/piratesConfig.cmake
    INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/pirates)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/piratesConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/piratesConfig.cmake ${PROJECT_BINARY_DIR}/piratesConfigVersion.cmake
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/pirates COMPONENT dev)

include(${CMAKE_CURRENT_LIST_DIR}/pkgconfig.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/man.cmake)

# Units and example configs. Installed under /etc/pirates and /lib/systemd/system when the prefix is /usr (the
# Debian package), under <prefix>/etc/pirates and <prefix>/lib/systemd/system otherwise (a scratch prefix
# never writes to /etc). Decided at install time, since `cmake --install --prefix` and CPack change the prefix.
file(GLOB PIRATES_UNITS ${PROJECT_SOURCE_DIR}/dist/systemd/*.service)
file(GLOB PIRATES_CONFIGS ${PROJECT_SOURCE_DIR}/dist/config/*.toml)
install(CODE "
    if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
        set(pirates_etc /etc/pirates)
        set(pirates_units /lib/systemd/system)
    else()
        set(pirates_etc \"\${CMAKE_INSTALL_PREFIX}/etc/pirates\")
        set(pirates_units \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
    endif()
    file(INSTALL DESTINATION \"\${pirates_etc}\" TYPE FILE
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ FILES ${PIRATES_CONFIGS})
    file(INSTALL DESTINATION \"\${pirates_units}\" TYPE FILE
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ FILES ${PIRATES_UNITS})
    " COMPONENT programs)
install(FILES docs/operations.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT programs)
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/pirates RENAME copyright COMPONENT programs)
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/libpirates-dev RENAME copyright
    COMPONENT dev)

# Debian packages (CPack DEB, one per component), written into the build directory.
find_program(PIRATES_DPKG dpkg)
if(PIRATES_DPKG)
    execute_process(COMMAND ${PIRATES_DPKG} --print-architecture OUTPUT_VARIABLE PIRATES_DEB_ARCH
        OUTPUT_STRIP_TRAILING_WHITESPACE)
else()
    set(PIRATES_DEB_ARCH amd64)
endif()

# Maintainer scripts of the programs' package: conffiles (dpkg keeps local edits of /etc/pirates/*.toml);
# daemon-reload on install/remove, restart the running units after an upgrade, stop them before removal.
# Units are never enabled by the package: the operator enables the ones configured.
set(PIRATES_DEB_DIR ${PROJECT_BINARY_DIR}/debian)
set(conffiles "")
foreach(file IN LISTS PIRATES_CONFIGS)
    get_filename_component(name ${file} NAME)
    string(APPEND conffiles "/etc/pirates/${name}\n")
endforeach()
file(WRITE ${PIRATES_DEB_DIR}/conffiles "${conffiles}")
set(PIRATES_UNIT_NAMES "")
foreach(file IN LISTS PIRATES_UNITS)
    get_filename_component(name ${file} NAME)
    list(APPEND PIRATES_UNIT_NAMES ${name})
endforeach()
list(JOIN PIRATES_UNIT_NAMES " " PIRATES_UNIT_NAMES)
foreach(script postinst prerm postrm)
    configure_file(${PROJECT_SOURCE_DIR}/dist/debian/${script}.in ${PIRATES_DEB_DIR}/${script} @ONLY
        FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()

# libpirates-dev pulls what the installed headers and CMake package need; a static libpirates_common that
# links libsystemd (sd_notify) needs its -dev package to link.
set(PIRATES_DEV_DEPENDS "libzmq3-dev, cppzmq-dev, libfmt-dev")
get_target_property(common_links pirates_common LINK_LIBRARIES)
get_target_property(common_type pirates_common TYPE)
if("systemd" IN_LIST common_links AND common_type STREQUAL "STATIC_LIBRARY")
    string(APPEND PIRATES_DEV_DEPENDS ", libsystemd-dev")
endif()
if(common_type STREQUAL "SHARED_LIBRARY")  # the shared libraries are in the programs' package
    string(APPEND PIRATES_DEV_DEPENDS ", pirates (= ${PROJECT_VERSION})")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pirates)
set(CPACK_PACKAGE_VENDOR pirates)
set(CPACK_PACKAGE_CONTACT "pirates maintainers <pirates@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)  # with CPACK_SET_DESTDIR, the prefix the install runs with
set(CPACK_SET_DESTDIR ON)  # /etc/pirates and /lib/systemd/system are outside the prefix
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL programs dev)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${PIRATES_DEB_ARCH})
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_PROGRAMS_PACKAGE_NAME pirates)
set(CPACK_DEBIAN_PROGRAMS_FILE_NAME pirates_${PROJECT_VERSION}_${PIRATES_DEB_ARCH}.deb)
set(CPACK_DEBIAN_PROGRAMS_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PROGRAMS_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PROGRAMS_PACKAGE_CONTROL_EXTRA
    ${PIRATES_DEB_DIR}/conffiles ${PIRATES_DEB_DIR}/postinst ${PIRATES_DEB_DIR}/prerm ${PIRATES_DEB_DIR}/postrm)
if(common_type STREQUAL "SHARED_LIBRARY")  # shared libraries in /usr/lib: run ldconfig after (un)install
    file(WRITE ${PIRATES_DEB_DIR}/triggers "activate-noawait ldconfig\n")
    list(APPEND CPACK_DEBIAN_PROGRAMS_PACKAGE_CONTROL_EXTRA ${PIRATES_DEB_DIR}/triggers)
else()
    file(REMOVE ${PIRATES_DEB_DIR}/triggers)
endif()
set(CPACK_COMPONENT_PROGRAMS_DESCRIPTION "ZeroMQ reliable request-reply: brokers, queues, servers, clients
 The reference programs of pirates, the ZeroMQ Guide's reliability patterns: Lazy Pirate (lpclient, lpserver),
 Simple and Paranoid Pirate queues and workers, the Majordomo broker (mdbroker) with its worker and client,
 Titanic, Binary Star and Freelance. systemd units (Type=notify, hardened) for the brokers, queues and
 servers, example configurations in /etc/pirates, man pages.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libpirates-dev)
set(CPACK_DEBIAN_DEV_FILE_NAME libpirates-dev_${PROJECT_VERSION}_${PIRATES_DEB_ARCH}.deb)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${PIRATES_DEV_DEPENDS}")
set(CPACK_COMPONENT_DEV_DESCRIPTION "ZeroMQ reliable request-reply patterns, C++20 development files
 pirates is a C++20 framework of the ZeroMQ Guide's reliability patterns (Lazy, Simple and Paranoid Pirate,
 Majordomo, Titanic, Binary Star, Freelance). This package holds the headers, the libraries, the CMake
 package (find_package(pirates COMPONENTS ...)) and the pkg-config files (pirates-<module>).")

include(CPack)
