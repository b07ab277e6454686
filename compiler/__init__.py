"""clawtex: compiles customer YAML into the fleet's infrastructure.

Stages, one package or module each:
  load      (compiler.load)      YAML files -> plain data + source positions
  validate  (compiler.models, compiler.validate)  schema + tier rules -> diagnostics
  plan      (compiler.plan)      pure fleet model, no I/O
  render    (compiler.targets.*) one module per target, plan -> {path: bytes}
  write     (compiler.write)     journaled write of generated/, or --check diff
"""
