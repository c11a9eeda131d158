"""Offline training: `python -m hiaudio.train MODEL [--config FILE] [--set key=value ...]`.

Nothing outside this package imports it; the app loads what it writes through
`hiaudio.checkpoints`.
"""
