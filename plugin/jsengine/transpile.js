// Runs next to TypeScript's compiler (`ts`) in its own isolate: turns a plugin's source
// (TypeScript or modern JavaScript) into a CommonJS function body, and guards every loop
// with `__loopGuard(line, column)`, as the plugin-server's loop-timeout transform does.
function transpilePlugin(source, fileName) {
  function loopGuards(context) {
    const f = context.factory;
    return (sourceFile) => {
      function guard(node) {
        const position = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
        return f.createExpressionStatement(
          f.createCallExpression(f.createIdentifier("__loopGuard"), undefined, [
            f.createNumericLiteral(position.line + 1),
            f.createNumericLiteral(position.character),
          ]),
        );
      }
      function guardedBody(node, body) {
        const statements = ts.isBlock(body) ? body.statements : [body];
        return f.createBlock([guard(node), ...statements], true);
      }
      function visit(node) {
        const visited = ts.visitEachChild(node, visit, context);
        if (ts.isWhileStatement(node)) {
          return f.updateWhileStatement(visited, visited.expression, guardedBody(node, visited.statement));
        }
        if (ts.isDoStatement(node)) {
          return f.updateDoStatement(visited, guardedBody(node, visited.statement), visited.expression);
        }
        if (ts.isForStatement(node)) {
          return f.updateForStatement(visited, visited.initializer, visited.condition, visited.incrementor,
            guardedBody(node, visited.statement));
        }
        if (ts.isForInStatement(node)) {
          return f.updateForInStatement(visited, visited.initializer, visited.expression, guardedBody(node, visited.statement));
        }
        if (ts.isForOfStatement(node)) {
          return f.updateForOfStatement(visited, visited.awaitModifier, visited.initializer, visited.expression,
            guardedBody(node, visited.statement));
        }
        return visited;
      }
      return ts.visitNode(sourceFile, visit);
    };
  }

  const output = ts.transpileModule(source, {
    fileName,
    reportDiagnostics: true,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      allowJs: true,
      sourceMap: false,
      removeComments: false,
    },
    transformers: { before: [loopGuards] },
  });
  const diagnostics = (output.diagnostics || []).map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : null;
    return {
      message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
      line: where ? where.line + 1 : null,
      column: where ? where.character + 1 : null,
    };
  });
  return JSON.stringify({ code: output.outputText, diagnostics });
}
