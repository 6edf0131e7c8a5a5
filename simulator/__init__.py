"""Upbit and Bithumb exchange simulator: real WebSocket servers that speak the venues' public protocols.

Written from the exchanges' documentation only; it shares no code with krwfeed's adapters.
See docs/simulator.md.
"""
from simulator.app import Simulator, SimulatorOptions, SimulatorThread

__all__ = ["Simulator", "SimulatorOptions", "SimulatorThread"]
