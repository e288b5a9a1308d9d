/* EFI variables as efivarfs shows them (<sysfs>/firmware/efi/efivars/NAME-GUID): the payload
 * codec for the systemd-boot loader's string variables and the 1-byte SecureBoot/SetupMode.
 * Pure: bytes in, values out (reading and writing the files is engine/efivars_store.h's).
 *
 * An efivarfs file is the variable's 4-byte attributes (little-endian) followed by its data.
 * systemd (bootctl set-default, systemd-boot, the Boot Loader Interface) stores strings as
 * UTF-16LE with a terminating NUL character, attributes NON_VOLATILE | BOOTSERVICE_ACCESS |
 * RUNTIME_ACCESS (0x07) for the persistent ones (LoaderEntryDefault, LoaderEntryOneShot) and
 * BS|RT (0x06) for the volatile ones the loader sets each boot (LoaderEntrySelected,
 * LoaderBootCountPath). Readers accept a string without its NUL, as systemd's do. SecureBoot and
 * SetupMode (EFI global GUID) hold one byte, 0 or 1.
 *
 * Contract: 0 or a negative errno with a message (common/error.h): -EBADMSG for a payload that
 * is not what the variable holds (shorter than the attributes, an odd number of data bytes, a
 * NUL character inside the string, an unpaired UTF-16 surrogate, a boolean that is not 0/1),
 * -EINVAL for a string that cannot be stored (not valid UTF-8), -ENOMEM. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* The Boot Loader Interface vendor GUID (systemd-boot, bootctl) and the EFI global one. */
#define VT_EFI_LOADER_GUID "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"
#define VT_EFI_GLOBAL_GUID "8be4df61-93ca-11d2-aa0d-e98c4e8f40f4"

#define VT_EFI_VARIABLE_NON_VOLATILE       0x00000001u
#define VT_EFI_VARIABLE_BOOTSERVICE_ACCESS 0x00000002u
#define VT_EFI_VARIABLE_RUNTIME_ACCESS     0x00000004u
/* NV|BS|RT: what bootctl writes for LoaderEntryDefault / LoaderEntryOneShot. */
#define VT_EFI_ATTR_NV_BS_RT 0x00000007u

/* efivarfs directory under the sysfs root, and file names there. */
#define VT_EFIVARS_DIR                     "firmware/efi/efivars"
#define VT_EFIVAR_LOADER_ENTRY_DEFAULT     "LoaderEntryDefault-" VT_EFI_LOADER_GUID
#define VT_EFIVAR_LOADER_ENTRY_ONESHOT     "LoaderEntryOneShot-" VT_EFI_LOADER_GUID
#define VT_EFIVAR_LOADER_ENTRY_SELECTED    "LoaderEntrySelected-" VT_EFI_LOADER_GUID
#define VT_EFIVAR_LOADER_ENTRY_LAST_BOOTED "LoaderEntryLastBooted-" VT_EFI_LOADER_GUID
#define VT_EFIVAR_LOADER_BOOT_COUNT_PATH   "LoaderBootCountPath-" VT_EFI_LOADER_GUID
#define VT_EFIVAR_LOADER_INFO              "LoaderInfo-" VT_EFI_LOADER_GUID
#define VT_EFIVAR_LOADER_DEVICE_PART_UUID  "LoaderDevicePartUUID-" VT_EFI_LOADER_GUID
#define VT_EFIVAR_SECURE_BOOT              "SecureBoot-" VT_EFI_GLOBAL_GUID
#define VT_EFIVAR_SETUP_MODE               "SetupMode-" VT_EFI_GLOBAL_GUID

/* The efivarfs payload of a string variable: attrs (LE) + UTF-16LE of `value` + a NUL
 * character. Characters beyond the BMP become surrogate pairs. */
int vt_efivar_encode_string(const char *value, uint32_t attrs, vt_buf *out);
/* The string (UTF-8, malloc'd) and attributes (attrs may be NULL) of a payload; `name` names
 * the variable in messages. A terminating NUL character is optional. */
int vt_efivar_decode_string(const void *data, size_t len, const char *name, char **value,
                            uint32_t *attrs);
/* SecureBoot / SetupMode: exactly one data byte, 0 or 1. */
int vt_efivar_decode_bool(const void *data, size_t len, const char *name, bool *value,
                          uint32_t *attrs);
