# The seed test imports pytest but uses nothing from it.
