SUMMARY = "smartpos development image"
DESCRIPTION = "posd with the simulator feature (posd-sim) and debug tools."
require smartpos-image.inc

SMARTPOS_POSD = "posd-sim"
# nooelint: oelint.var.badimagefeature.tools-debug - the development image exists to carry them; smartpos-image does not
IMAGE_FEATURES += "tools-debug"
IMAGE_INSTALL:append = " sqlite3 strace pcsc-tools"
