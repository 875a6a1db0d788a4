"""Running an audio-language model over a benchmark under audio conditions, recording exactly what was sent."""
