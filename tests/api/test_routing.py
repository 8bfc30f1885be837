"""The order of the API routers is free: no route of one router matches a path of another (so app.py may put
the busiest routers first), and the API explorer keeps its reading order of tags."""

from __future__ import annotations

import uuid

from starlette.convertors import FloatConvertor, IntegerConvertor, PathConvertor, UUIDConvertor
from starlette.routing import Route, compile_path

from mso_flow.api import app as app_module
from mso_flow.api.routers import health, metrics

SAMPLES = {IntegerConvertor: "7", FloatConvertor: "1.5", PathConvertor: "a/b", UUIDConvertor: str(uuid.uuid4())}


def _routes() -> list[tuple[str, Route, str]]:
    """(router name, route, full path) of every route of the /api/v1 routers, /health and /metrics."""
    found = []
    for module in app_module.API_ROUTERS:
        for route in module.router.routes:
            assert isinstance(route, Route)
            found.append((module.__name__, route, app_module.API_PREFIX + route.path))
    for module in (health, metrics):
        for route in module.router.routes:
            assert isinstance(route, Route)
            found.append((module.__name__, route, route.path))
    return found


def _sample(route: Route, path: str) -> str:
    for name, convertor in route.param_convertors.items():
        value = SAMPLES.get(type(convertor), f"sample-{name}")
        path = path.replace(f"{{{name}:{_kind(convertor)}}}", value).replace(f"{{{name}}}", value)
    return path


def _kind(convertor: object) -> str:
    return {IntegerConvertor: "int", FloatConvertor: "float", PathConvertor: "path", UUIDConvertor: "uuid"}.get(
        type(convertor), "str"
    )


def test_no_route_of_one_router_matches_a_path_of_another() -> None:
    routes = _routes()
    assert len({module for module, _, _ in routes}) == len(app_module.API_ROUTERS) + 2
    clashes = []
    for module, route, path in routes:
        sample = _sample(route, path)
        assert compile_path(path)[0].match(sample), (path, sample)
        for other_module, other, other_path in routes:
            if other_module == module or not (route.methods or set()) & (other.methods or set()):
                continue
            if compile_path(other_path)[0].match(sample):
                clashes.append(f"{sorted(route.methods or ())} {path} is also matched by {other_module}: {other_path}")
    assert not clashes, clashes


def test_every_api_router_is_served_and_the_explorer_keeps_its_tag_order() -> None:
    app = app_module.create_app()
    paths = app.openapi()["paths"]
    for _module, _route, path in _routes():
        if _route.include_in_schema:
            assert path in paths, path
    tags = [tag["name"] for tag in app.openapi()["tags"]]
    used = {tag for operations in paths.values() for operation in operations.values() for tag in operation["tags"]}
    assert used <= set(tags), used - set(tags)
    reading = ["health", "users", "process definitions", "deployments", "process instances", "personal data", "tasks"]
    assert tags[:7] == reading
