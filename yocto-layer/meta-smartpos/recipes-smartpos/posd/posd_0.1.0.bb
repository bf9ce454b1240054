# The production posd: no simulator.
# The source first: posd.inc's crates add to its SRC_URI.
require posd-source.inc
require posd.inc
