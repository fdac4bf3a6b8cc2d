"""The simulated handset: its SIM cards, its health readings, and SMS part counting.

Nothing here knows about sockets; ``relay.py`` asks the phone what to put in
``hello`` and ``heartbeat`` and how many parts a text takes.
"""

from __future__ import annotations

import math
import random
from typing import Final

from protocol import frames as f
from relay_sim import __version__

MODEL: Final = "relay-sim"
OS: Final = "Android 14 (simulated)"
MAX_SIMS: Final = 8  # what a hello may describe

_CARRIERS: Final = ("Beeline", "Ucell", "Mobiuz", "Uzmobile")

# GSM 03.38: the basic set costs one septet per character, the extension
# table two (escape + character). Anything else forces UCS-2.
_GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION: Final = frozenset("\f^{}\\[~]|€")
_MAX_PARTS: Final = 255  # a concatenated SMS counts its parts in one byte


def count_parts(text: str) -> int:
    """How many SMS parts ``text`` takes: 160/153 septets in GSM-7, 70/67 UTF-16 units else."""
    if all(char in _GSM7_BASIC or char in _GSM7_EXTENSION for char in text):
        units = sum(2 if char in _GSM7_EXTENSION else 1 for char in text)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    parts = 1 if units <= single else math.ceil(units / multi)
    return min(parts, _MAX_PARTS)


class SimulatedPhone:
    """A handset with ``sims`` SIM cards in slots 0…sims-1 and a slowly changing battery."""

    def __init__(self, rng: random.Random, sims: int = 1) -> None:
        if not 1 <= sims <= MAX_SIMS:
            raise ValueError(f"a phone has 1 to {MAX_SIMS} SIM slots, not {sims}")
        self._rng = rng
        self.sims = [
            f.Sim(
                slot=slot,
                carrier=_CARRIERS[slot % len(_CARRIERS)],
                number=f"+99890{rng.randrange(10**7):07d}",
            )
            for slot in range(sims)
        ]
        self.battery = rng.randint(35, 100)
        self.charging = rng.random() < 0.3

    def has_slot(self, slot: int) -> bool:
        return any(sim.slot == slot for sim in self.sims)

    def hello(self, parts_per_minute: int) -> f.Hello:
        return f.Hello(
            app_version=__version__,
            model=MODEL,
            os=OS,
            sims=list(self.sims),
            limits=f.Limits(parts_per_minute=parts_per_minute),
        )

    def heartbeat(self, queue: int) -> f.Heartbeat:
        """Take a health reading; the battery drifts a little between readings."""
        if self._rng.random() < 0.05:
            self.charging = not self.charging
        step = 1 if self.charging else -1
        self.battery = max(5, min(100, self.battery + step * self._rng.randint(0, 1)))
        return f.Heartbeat(
            battery=self.battery,
            charging=self.charging,
            signal=self._rng.choice((2, 3, 3, 4, 4)),
            network=self._rng.choice(("LTE", "LTE", "LTE", "5G", "3G")),
            queue=queue,
        )
