# The public face of the libraries, the same in a build tree (add_subdirectory, FetchContent)
# and in an installed package (find_package): hugemem::<name> targets whose usage requirements
# name only include/ and Threads.
#
#   hugemem::hugemem  libhugemem.so: malloc & co. and operator new/delete replaced for the whole
#                     program, plus the hm_* API
#   hugemem::static   libhugemem.a: the hm_* API only, beside the system malloc
#   hugemem::pktpool  libhugemem_pktpool.a: the packet buffer pool (carries the page layer)
#   hugemem::vfio     libhugemem_vfio.a: VFIO container/device, DMA mapping, the e1000 driver
#                     (links hugemem::static for the DMA heaps its rings come from)

set_target_properties(hugemem PROPERTIES
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR} EXPORT_NAME hugemem)
set_target_properties(hugemem_static PROPERTIES EXPORT_NAME static)
set_target_properties(hugemem_pktpool PROPERTIES EXPORT_NAME pktpool)
set_target_properties(hugemem_vfio PROPERTIES EXPORT_NAME vfio)

# pktpool and vfio are built with the page and os layers' objects inside, and (for now) their
# headers reach into lib/. Inside this build tree that stays as it is; what a consumer of the
# installed package sees is include/ and Threads only. The object libraries hold nothing a
# consumer links a second time: their objects are already in the archive.
set_property(TARGET hugemem_pktpool PROPERTY INTERFACE_INCLUDE_DIRECTORIES
  "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>" "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
set_property(TARGET hugemem_pktpool PROPERTY INTERFACE_LINK_LIBRARIES
  "$<BUILD_INTERFACE:hugemem_page>" "$<BUILD_INTERFACE:hugemem_os>" Threads::Threads)
set_property(TARGET hugemem_vfio PROPERTY INTERFACE_INCLUDE_DIRECTORIES
  "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include;${PROJECT_SOURCE_DIR}/lib>"
  "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")

foreach(name hugemem static pktpool vfio)
  if(name STREQUAL "hugemem")
    set(target hugemem)
  else()
    set(target hugemem_${name})
  endif()
  if(NOT TARGET hugemem::${name})
    add_library(hugemem::${name} ALIAS ${target})
  endif()
endforeach()
