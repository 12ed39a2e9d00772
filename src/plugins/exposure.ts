/**
 * What the server reveals about its schema. In production a client sees no field suggestions ("Did you mean …"),
 * which would otherwise let it map the schema with introspection off, and no introspection unless it is turned on.
 * GraphiQL is Yoga's own `graphiql` option (see server.ts).
 */
import { NoSchemaIntrospectionCustomRule, type ExecutionArgs, type ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";

export interface ExposureOptions {
  introspection: boolean;
  suggestions: boolean;
}

const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/**
 * graphql-js' `hideSuggestions` covers most validation messages and graphql-tools' executor passes it on, but two
 * messages ignore it: a leaf's "Did you mean "x { ... }"?" in validation, and an enum value in a variable (the
 * executor coerces variables through graphql-js' coerceInputValue, which never receives the option). Those are cut
 * from the message. (graphql-armor's block-field-suggestions does the same with a pattern that misses the enum form.)
 */
function withoutSuggestions(error: Error): void {
  error.message = error.message.replace(SUGGESTION, "");
}

export function exposurePlugin({ introspection, suggestions }: ExposureOptions): Plugin {
  const hideInExecution = (args: ExecutionArgs) => ({ ...args, hideSuggestions: true }) as ExecutionArgs;
  return {
    onValidate(payload) {
      if (!introspection) payload.addValidationRule(NoSchemaIntrospectionCustomRule);
      if (suggestions) return;
      const inner = payload.validateFn;
      payload.setValidationFn((schema, document, rules, options, typeInfo) =>
        inner(schema, document, rules, { ...options, hideSuggestions: true }, typeInfo),
      );
      return ({ valid, result }) => {
        if (!valid) result.forEach(withoutSuggestions);
      };
    },
    onExecute({ executeFn, setExecuteFn }) {
      if (suggestions) return;
      setExecuteFn((args: ExecutionArgs) => executeFn(hideInExecution(args)));
      return {
        onExecuteDone({ result }) {
          if (!("errors" in result)) return;
          (result as ExecutionResult).errors?.forEach(withoutSuggestions);
        },
      };
    },
    onSubscribe({ subscribeFn, setSubscribeFn }) {
      if (suggestions) return;
      setSubscribeFn((args: ExecutionArgs) => subscribeFn(hideInExecution(args)));
    },
  };
}
