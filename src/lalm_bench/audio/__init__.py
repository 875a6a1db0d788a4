"""Audio layer: decoding and encoding files (safe paths, bounded reads) and the audio conditions
(noise, silence, mismatched, …) that predict sends and the report rebuilds."""
