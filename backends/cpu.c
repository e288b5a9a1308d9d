#include "backends/cpu.h"

#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"

vt_cpu_vendor vt_cpu_vendor_of(const char *cpuinfo)
{
        if (!cpuinfo)
                return VT_CPU_UNKNOWN;
        if (strstr(cpuinfo, "GenuineIntel"))
                return VT_CPU_INTEL;
        if (strstr(cpuinfo, "AuthenticAMD") || strstr(cpuinfo, "HygonGenuine"))
                return VT_CPU_AMD;
        return VT_CPU_UNKNOWN;
}

vt_cpu_vendor vt_cpu_vendor_probe(const char *proc)
{
        _cleanup_free_ char *path = vt_path_join(proc, "cpuinfo");
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;

        if (!path || vt_read_file(path, &b) < 0) {
                vt_error_clear();
                return VT_CPU_UNKNOWN;
        }
        return vt_cpu_vendor_of(vt_buf_cstr(&b));
}
