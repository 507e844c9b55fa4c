"""Who is acting: every command in queries/ takes one."""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("hq_viewer", "inventory_manager", "support", "admin")


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    # Empty means every region (admin, headquarters).
    regions: tuple[str, ...] = field(default_factory=tuple)
    display_name: str = ""

    @property
    def all_regions(self) -> bool:
        return not self.regions

    def covers_region(self, region: str) -> bool:
        return self.all_regions or region in self.regions

    @classmethod
    def from_user_row(cls, row: dict) -> Actor:
        """From a users row (username, display_name, role, regions)."""
        return cls(username=row["username"], role=row["role"],
                   regions=tuple(row["regions"] or ()), display_name=row["display_name"])


# Used by the seed, the traffic simulator and the workflow worker.
SYSTEM = Actor(username="system", role="admin", display_name="System")
