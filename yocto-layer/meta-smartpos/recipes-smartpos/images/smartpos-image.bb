SUMMARY = "smartpos production image"
DESCRIPTION = "posd without the simulator on a Raspberry Pi, SSH by key for field engineers."
require smartpos-image.inc
