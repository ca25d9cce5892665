"""placeholder"""
from __future__ import annotations
from maestro.config.service import ServiceConfig


def show_story(config: ServiceConfig, identifier: str, follow: bool = False,
               as_json: bool = False) -> int:
    return 0
