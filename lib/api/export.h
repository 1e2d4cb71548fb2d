// The symbols libhugemem exports: the hm_* API and, in the overriding build, the C library's
// malloc names and operator new/delete. Everything else stays hidden.
#pragma once

#define HM_EXPORT extern "C" __attribute__((visibility("default")))
#define HM_EXPORT_CXX __attribute__((visibility("default")))
