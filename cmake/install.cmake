# Installing hugemem: the libraries, the public headers, the loopback demo, the documentation,
# a CMake package (find_package(hugemem)) and pkg-config files; `cpack -G DEB` makes a .deb.
#
#   <prefix>/lib/libhugemem.so.0 (-> .so.0.1.0)   hugemem::hugemem   pkg-config hugemem
#   <prefix>/lib/libhugemem.a                      hugemem::static    pkg-config hugemem-static
#   <prefix>/lib/libhugemem_pktpool.a              hugemem::pktpool   pkg-config hugemem-pktpool
#   <prefix>/lib/libhugemem_vfio.a                 hugemem::vfio      pkg-config hugemem-vfio
#   <prefix>/include/hugemem/...                   the public headers
#   <prefix>/lib/cmake/hugemem/                    hugememConfig.cmake and its version file
#   <prefix>/bin/hugemem-loopback                  the two-NIC demo (vfio/README.md)
#   <prefix>/share/doc/hugemem/                    README.md and docs/
include(CMakePackageConfigHelpers)

set(HUGEMEM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/hugemem)

install(TARGETS hugemem hugemem_static hugemem_pktpool hugemem_vfio
        EXPORT hugememTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS hugemem-loopback RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(DIRECTORY include/hugemem DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
        FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT doc)
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT doc)

install(EXPORT hugememTargets NAMESPACE hugemem:: FILE hugememTargets.cmake
        DESTINATION ${HUGEMEM_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(cmake/hugememConfig.cmake.in ${PROJECT_BINARY_DIR}/hugememConfig.cmake
                              INSTALL_DESTINATION ${HUGEMEM_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hugememConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hugememConfig.cmake ${PROJECT_BINARY_DIR}/hugememConfigVersion.cmake
        DESTINATION ${HUGEMEM_CMAKE_DIR} COMPONENT dev)

# pkg-config files locate the prefix from their own place (${pcfiledir}), so an install with
# `cmake --install build --prefix <anywhere>` or a relocated package still points at itself.
set(HUGEMEM_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH HUGEMEM_PC_TO_PREFIX /root/${HUGEMEM_PC_DIR} /root)
string(REGEX REPLACE "/$" "" HUGEMEM_PC_TO_PREFIX "${HUGEMEM_PC_TO_PREFIX}")
foreach(pc hugemem hugemem-static hugemem-pktpool hugemem-vfio)
  configure_file(cmake/pkgconfig/${pc}.pc.in ${PROJECT_BINARY_DIR}/pkgconfig/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${pc}.pc DESTINATION ${HUGEMEM_PC_DIR} COMPONENT dev)
endforeach()

# A Debian package of everything above: cpack -G DEB in the build directory.
set(CPACK_PACKAGE_NAME hugemem)
set(CPACK_PACKAGE_VENDOR "hugemem")
set(CPACK_PACKAGE_CONTACT "hugemem maintainers <hugemem@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.33)")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "hugemem is a malloc replacement whose heap lives on transparent or hugetlb huge pages, with\n an hm_* API for embedding, a packet buffer pool and a VFIO e1000 driver.")
include(CPack)
