/* The command table, in the order of `vfiotx --help` (options.h). */
#include "cli/cli.h"

const vt_command *const vt_commands[] = {
    &vt_command_devices, &vt_command_check,     &vt_command_plan,       &vt_command_apply,
    &vt_command_try,     &vt_command_status,    &vt_command_confirm,    &vt_command_log,
    &vt_command_show,    &vt_command_boot,      &vt_command_rollback,   &vt_command_export,
    &vt_command_import,  &vt_command_vm_config, &vt_command_completion, NULL,
};
