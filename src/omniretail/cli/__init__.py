"""The CLI kit: how commands reach the runtime (``context``). The root is ``commands``."""
