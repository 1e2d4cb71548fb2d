/* hugemem's version, for code that compiles against it (C99 and C++).
 *   HUGEMEM_VERSION          MAJOR * 10000 + MINOR * 100 + PATCH (0.1.0 -> 100), for #if tests
 *   HUGEMEM_VERSION_STRING   "MAJOR.MINOR.PATCH"
 * hm_version() (hugemem.h) returns HUGEMEM_VERSION as the library that is actually loaded was
 * built with: compare the two to detect a program running against another build than it was
 * compiled for. While MAJOR is 0 every MINOR release may change the API and the ABI; the shared
 * library's soname (libhugemem.so.MAJOR) and the CMake package (SameMajorVersion) follow MAJOR.
 */
#ifndef HUGEMEM_VERSION_H
#define HUGEMEM_VERSION_H

#define HUGEMEM_VERSION_MAJOR 0
#define HUGEMEM_VERSION_MINOR 1
#define HUGEMEM_VERSION_PATCH 0

#define HUGEMEM_VERSION (HUGEMEM_VERSION_MAJOR * 10000 + HUGEMEM_VERSION_MINOR * 100 + HUGEMEM_VERSION_PATCH)

#define HUGEMEM_VERSION_STR_(x) #x
#define HUGEMEM_VERSION_STR(x) HUGEMEM_VERSION_STR_(x)
#define HUGEMEM_VERSION_STRING \
  HUGEMEM_VERSION_STR(HUGEMEM_VERSION_MAJOR) "." HUGEMEM_VERSION_STR(HUGEMEM_VERSION_MINOR) "." HUGEMEM_VERSION_STR(HUGEMEM_VERSION_PATCH)

#endif /* HUGEMEM_VERSION_H */
