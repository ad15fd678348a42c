"""Filter definitions (filters/*.yaml): model, loader, Flink SQL compiler and a local evaluator.

Public entry points:

- `filters.loader.load_pipeline(path)` / `load_pipeline_text(text, filename)` -> `filters.model.Pipeline`
- `filters.compiler.compile_job(pipeline, dialect, ...)` -> `CompiledJob` (DDL, INSERTs, statement set, routes)
- `filters.compiler.generate_files(pipeline, ...)` -> the committed flink-jobs/*.sql texts
- `filters.evaluator.evaluate_event(pipeline, event)` / `evaluate_events(pipeline, events)`
"""
