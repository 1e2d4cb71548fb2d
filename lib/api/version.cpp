// hm_version / hm_version_string: the version this library was built as (hugemem/version.h).
#include "api/export.h"
#include "hugemem/hugemem.h"
#include "hugemem/version.h"

HM_EXPORT int hm_version(void) noexcept { return HUGEMEM_VERSION; }
HM_EXPORT const char* hm_version_string(void) noexcept { return HUGEMEM_VERSION_STRING; }
