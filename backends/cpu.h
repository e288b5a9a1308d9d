/* Probe: whose virtualization and IOMMU design the CPU follows, from /proc/cpuinfo.
 *
 * vfiotx asks one thing of the CPU: is it Intel's (VT-x, VT-d: intel_iommu=) or AMD's (AMD-V,
 * AMD-Vi: amd_iommu=)? The answer is read from the vendor_id the kernel reports: GenuineIntel is
 * Intel; AuthenticAMD is AMD, and so is HygonGenuine (Hygon's Dhyana is a licensed AMD Zen core:
 * the kernel's amd_iommu driver and SVM serve it). Anything else, or no cpuinfo, is unknown.
 * This is the only place that decides it. Whose IOMMU the machine has is a separate rule
 * (vt_iommu_maker_of(), backends/iommu.h: the firmware's ACPI table first), which falls back
 * to this vendor; `check` and the plan's kernel parameters both use that.
 *
 * Contract: vt_cpu_vendor_of() is pure; vt_cpu_vendor_probe() reads <proc>/cpuinfo and answers
 * VT_CPU_UNKNOWN when it cannot (no error is left set: an unknown CPU is a fact, not a failure). */
#pragma once

typedef enum vt_cpu_vendor {
        VT_CPU_UNKNOWN = 0,
        VT_CPU_INTEL,
        VT_CPU_AMD, /* AMD, and Hygon */
} vt_cpu_vendor;

/* The vendor named in cpuinfo's text (NULL: unknown). */
vt_cpu_vendor vt_cpu_vendor_of(const char *cpuinfo);
/* The vendor of the CPU described by `proc` ("/proc" or a fixture). */
vt_cpu_vendor vt_cpu_vendor_probe(const char *proc);
