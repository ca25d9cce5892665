"""What a lane leaves behind and how it is read back: the lane folder (state, lock, listing,
archive, damaged files), outcome streaks, maestro's tracker comment blocks and the rebuild
from them. Every other group writes through ``state``; ``maestro status`` reads through
``lane_read``."""
