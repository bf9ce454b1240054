# posd built with the simulator feature, for smartpos-image-dev: the same
# files as posd, so the two replace each other.
# The source first: posd.inc's crates add to its SRC_URI.
require posd-source.inc
require posd.inc

PACKAGECONFIG ??= "simulator"

RPROVIDES:${PN} = "posd"
RREPLACES:${PN} = "posd"
RCONFLICTS:${PN} = "posd"
