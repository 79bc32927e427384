"""Every request body in the OpenAPI document carries an example, and each JSON example is one
the operation's own request model accepts (so the examples cannot drift from the models)."""

from typing import Any

from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from api.main import create_app
from clearchart.settings import Settings


def _routes(routes: list[Any]) -> list[APIRoute]:
    """Every API route, looking inside included routers."""
    found: list[APIRoute] = []
    for r in routes:
        if hasattr(r, "original_router"):
            found.extend(_routes(r.original_router.routes))
        elif isinstance(r, APIRoute):
            found.append(r)
    return found


def _app_and_spec() -> tuple[Any, dict[str, Any]]:
    app = create_app(Settings(DATABASE_URL="postgresql://unused@localhost/unused"))
    return app, app.openapi()


class TestRequestBodyExamples:
    def test_every_request_body_has_an_example(self) -> None:
        _, spec = _app_and_spec()
        missing = [
            (method.upper(), path, media_type)
            for path, operations in spec["paths"].items()
            for method, op in operations.items()
            for media_type, media in op.get("requestBody", {}).get("content", {}).items()
            if "example" not in media and "examples" not in media
            and not {"example", "examples"} & set(spec["components"]["schemas"].get(media.get("schema", {}).get("$ref", "/").rsplit("/", 1)[-1], {}))
        ]
        assert missing == []

    def test_json_examples_are_accepted_by_their_models(self) -> None:
        app, spec = _app_and_spec()
        checked = 0
        for route in _routes(app.routes):
            if route.body_field is None:
                continue
            for method in route.methods or set():
                op = spec["paths"].get(route.path, {}).get(method.lower(), {})
                media = op.get("requestBody", {}).get("content", {}).get("application/json")
                if media and "example" in media:
                    model = route.body_field.field_info.annotation
                    assert model is not None, route.path
                    TypeAdapter(model).validate_python(media["example"])
                    checked += 1
        assert checked >= 15
