/* Writing the boot loader's EFI variables through efivarfs (<sysfs>/firmware/efi/efivars):
 * LoaderEntryDefault, the commit point of arming a trial on systemd-boot (issue 16). The
 * payloads are backends/efivar.h's; the write is here because backends never write.
 *
 * vt_efivar_store(): `value` NULL deletes the variable (absent already is success); otherwise
 * one write() of the whole payload (attributes NV|BS|RT, UTF-16LE, NUL), as efivarfs requires.
 * efivarfs marks variables immutable (FS_IMMUTABLE_FL): the flag is cleared first, as bootctl
 * does; a directory that is not efivarfs (tests) has no such flag and is truncated instead.
 * The firmware stores the variable before write() returns, so a power cut after it keeps it.
 *
 * Contract: 0 or a negative errno with a message naming the variable: -ENOENT when there is no
 * efivars directory (not booted through UEFI, or efivarfs not mounted), -EROFS when efivarfs is
 * read-only, -ENOSPC when the firmware's variable store is full. */
#pragma once

int vt_efivar_store(const char *sysfs, const char *name, const char *value);
/* Reading is backends/firmware.h's vt_firmware_read_var(). */
