"""Log lines: text or JSON, with the request, call and thread ids the context holds."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchboard.cli import main
from switchboard.core.config import ConfigError, load_settings
from switchboard.core.logs import (
    LogFormat,
    configure_logging,
    log_context,
    request_id_var,
)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    yield stream
    logging.getLogger().handlers.clear()


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_json_lines_carry_the_ids_set_in_the_context(captured: io.StringIO) -> None:
    configure_logging("info", LogFormat.JSON, stream=captured)
    token = request_id_var.set("r1")
    try:
        with log_context(call_id="c1", thread_id="t1"):
            logging.getLogger("switchboard.test").info("inside %s", "it")
        logging.getLogger("switchboard.test").warning("after")
    finally:
        request_id_var.reset(token)
    logging.getLogger("switchboard.test").debug("below the level")
    inside, after = (json.loads(line) for line in lines(captured))
    assert inside["message"] == "inside it"
    assert (inside["level"], inside["logger"]) == ("info", "switchboard.test")
    assert (inside["request_id"], inside["call_id"], inside["thread_id"]) == ("r1", "c1", "t1")
    assert inside["time"].endswith("Z")
    assert after["request_id"] == "r1"
    assert "call_id" not in after and "thread_id" not in after  # none set: left out


def test_a_task_keeps_the_ids_of_where_it_was_spawned(captured: io.StringIO) -> None:
    configure_logging("info", "json", stream=captured)

    async def work() -> None:
        await asyncio.sleep(0)  # runs after the block below has ended
        logging.getLogger("switchboard.x").info("done")

    async def spawn() -> None:
        with log_context(call_id="c2"):
            task = asyncio.create_task(work())
        await task

    asyncio.run(spawn())
    [line] = [json.loads(line) for line in lines(captured)]
    assert line["call_id"] == "c2"


def test_a_traceback_stays_inside_its_one_json_line(captured: io.StringIO) -> None:
    configure_logging("info", "json", stream=captured)
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError:
        logging.getLogger("switchboard.x").exception("failed")
    [line] = lines(captured)
    entry = json.loads(line)
    assert entry["level"] == "error"
    assert "RuntimeError: boom" in entry["exception"]


def test_embedded_servers_log_under_our_names(captured: io.StringIO) -> None:
    configure_logging("info", "json", stream=captured)
    logging.getLogger("uvicorn.error").info("Started server process")
    logging.getLogger("alembic.runtime.migration").info("Running upgrade")
    logging.getLogger("granian").info("listening")
    names = [json.loads(line)["logger"] for line in lines(captured)]
    assert names == [
        "switchboard.http.uvicorn",
        "switchboard.storage.migrations.runtime.migration",
        "switchboard.http.granian",
    ]


def test_text_lines_show_the_ids_that_are_set(captured: io.StringIO) -> None:
    configure_logging("info", "text", stream=captured)
    logging.getLogger("switchboard.x").info("no ids")
    with log_context(thread_id="19:abc@thread.v2"):
        logging.getLogger("switchboard.x").info("in a thread")
    plain, threaded = lines(captured)
    assert plain.endswith("INFO switchboard.x [-] no ids")
    assert threaded.endswith("INFO switchboard.x [-] in a thread thread=19:abc@thread.v2")


def test_an_unknown_log_format_is_refused_with_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="log_format 'xml' is unknown: use text or json"):
        load_settings(environ={"SWITCHBOARD_LOG_FORMAT": "xml"})
    config = tmp_path / "sb.toml"
    config.write_text('[server]\nlog_format = "yaml"\n')
    with pytest.raises(ConfigError, match="log_format 'yaml'"):
        load_settings(config_file=config, environ={})


def test_serve_with_a_bad_log_format_exits_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "sb.toml"
    config.write_text('[server]\nlog_format = "xml"\n')
    code = main(["serve", "--config", str(config), "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code == 2
    assert err == "switchboard: log_format 'xml' is unknown: use text or json\n"
