"""esp-at-sim: a software twin of an ESP32 module running ESP-AT firmware."""

__version__ = "0.1.0"
