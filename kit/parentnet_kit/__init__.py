"""Parentnet's shared kit: the only code services share besides event contracts.

Time zones: every process reads IANA rules from the ``tzdata`` package the kit pins, never from
the host's ``/usr/share/zoneinfo`` (zoneinfo's default search path comes first otherwise), so two
hosts or images with different system zone files cannot disagree on a city's local time after a
rule change. Set before any zone is read, on first import of the kit.
"""

import zoneinfo as _zoneinfo

_zoneinfo.reset_tzpath(to=())
