"""Driving the graceful stop (seed S3.1-b/c/d): connectors stop -> the buffer drains into the
producers -> the producers flush -> every waiter gets ``ServiceStopped``.

``pipeline.stop_sequence.StopSequence`` decides what comes next; this part sends the messages it
asks for. A second ``StopService`` joins the running sequence and gets the same answer.
"""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from actors.supervisor_base import STOP_TICK, STOP_TICK_S, SupervisorBase, supervisor_log
from messages.protocol import DrainBuffer, FlushProducer, ServiceStopped, StopConnector, StopService
from pipeline.stop_sequence import StopSequence


class StopDriving(SupervisorBase):
    def _begin_stop(self, msg: StopService, sender: Any) -> None:
        if self.stop is not None:  # idempotent (seed S3.1-d): later callers get the same answer
            self._advance(self.stop.add_waiter(sender))
            return
        connectors = {c.name for c in self.children.of_kind("connector") if c.address is not None
                      and self.book.connections.get(c.name, {}).get("state") not in ("DISCONNECTED", "FAILED")}
        producers = {c.name for c in self.children.of_kind("producer") if c.address is not None}
        self.stop = StopSequence(connectors, producers, deadline_s=msg.deadline_s, now_s=time.monotonic(),
                                 balanced=self.book.accounted)
        self.stop.add_waiter(sender)
        supervisor_log().info("stopping: %d connectors, then drain the buffer, then flush %d producers",
                              len(connectors), len(producers))
        for child in self.children.of_kind("connector"):
            if child.address is not None:
                self.send(child.address, StopConnector())
        self.wakeupAfter(timedelta(seconds=STOP_TICK_S), payload=STOP_TICK)
        self._advance(self.stop.begin())

    def _stop_tick(self) -> None:
        if self.stop is not None and not self.stop.done:
            self._advance(self.stop.tick(time.monotonic()))
            self.wakeupAfter(timedelta(seconds=STOP_TICK_S), payload=STOP_TICK)

    def _advance(self, actions: list[str]) -> None:
        assert self.stop is not None
        for action in actions:
            if action == "drain":
                buffer = self.children.address("buffer")
                if buffer is None:
                    self._advance(self.stop.drained(0))
                else:
                    self.send(buffer, DrainBuffer())
            elif action == "flush":
                for child in self.children.of_kind("producer"):
                    if child.address is not None:
                        self.send(child.address, FlushProducer(timeout_s=max(0.5, self.stop.remaining_s(
                            time.monotonic()) - 0.5)))
            elif action == "done":
                self._report_stopped()

    def _report_stopped(self) -> None:
        assert self.stop is not None
        depth = sum(int(v) for v in self.book.buffer["depth"].values())
        left = self.stop.left_in_buffer if self.stop.left_in_buffer is not None else depth
        result = ServiceStopped(flushed=self.book.total_published(), left_in_buffer=left)
        supervisor_log().info("stopped: %d records published in total, %d left in the buffer, %s "
                              "(%d extra drains)", result.flushed, result.left_in_buffer, self.stop.outcome,
                              self.stop.redrains)
        for waiter in self.stop.take_waiters():
            self.send(waiter, result)
