/*
 * The baseline app: virtualises only what VT-x forces. Every callback is the
 * library default, so what this image costs over bare metal is the cost of the
 * toolkit itself (./hv compare measures it).
 */
#include "libvmx/vmx_app.h"

const struct hv_app hv_app = {
	.name = "passthrough",
};
