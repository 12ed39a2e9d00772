/**
 * MAX_DEPTH, MAX_ALIASES, MAX_TOKENS and MAX_DIRECTIVES: graphql-armor's rules, checked while the document is parsed
 * and validated, so a refused document never reaches the context (token verification, the user row) or a resolver.
 * Each refusal is a request error with the contract's code and `extensions.reason`; the cost limit is in
 * query-cost.ts.
 *
 * How armor counts: depth is the longest chain of fields with fragments flattened (the root field counts 1, leaves
 * included); aliases and directives are counted over each operation with the fragments it spreads (a fragment spread
 * twice counts twice); tokens are the lexer's tokens of the whole document, comments excluded.
 */
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import { GraphQLError, Kind, type ASTNode, type ValidationContext, type ValidationRule } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { QueryLimits } from "../config.js";

type Reason = "MAX_DEPTH" | "MAX_ALIASES" | "MAX_TOKENS" | "MAX_DIRECTIVES";

/** armor's messages start with "Syntax Error: " even for validation; the reason says which limit it was. */
function limitError(error: GraphQLError, code: string, reason: Reason, limit: number): GraphQLError {
  return new GraphQLError(error.message.replace(/^Syntax Error: /, ""), { extensions: { code, reason, limit } });
}

/** armor throws out of the validation visitor by default; reporting instead keeps graphql-js' other errors too. */
const report = (reason: Reason, limit: number) => ({
  n: limit,
  propagateOnRejection: false,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) =>
      context?.reportError(limitError(error, "GRAPHQL_VALIDATION_FAILED", reason, limit)),
  ],
});

/**
 * armor exempts `__schema` from depth; the contract exempts `__type` too (tools that read one type's fields with
 * the TypeRef fragment nest `ofType` nine deep). armor's visitor counts through its own `countDepth`, recursively,
 * so a wrapper on the instance sees every field.
 */
function depthRule(limit: number): ValidationRule {
  const rule = maxDepthRule({ ...report("MAX_DEPTH", limit), flattenFragments: true, ignoreIntrospection: true });
  return (context) => {
    const visitor = rule(context) as unknown as { countDepth: (node: ASTNode, parentDepth?: number) => number };
    const countDepth = visitor.countDepth;
    visitor.countDepth = function (node, parentDepth) {
      if (node.kind === Kind.FIELD && node.name.value === "__type") return 0;
      return countDepth.call(this, node, parentDepth);
    };
    return visitor as never;
  };
}

/** The four document limits as one Yoga plugin. */
export function queryLimitsPlugin(limits: Pick<QueryLimits, "depth" | "aliases" | "tokens" | "directives">): Plugin {
  const rules = [depthRule(limits.depth), maxAliasesRule(report("MAX_ALIASES", limits.aliases)), maxDirectivesRule(report("MAX_DIRECTIVES", limits.directives))];
  // Found while parsing, so the request fails as GRAPHQL_PARSE_FAILED (which the contract allows for MAX_TOKENS).
  const tokens = maxTokensPlugin({
    n: limits.tokens,
    onReject: [
      (_context, error) => {
        throw limitError(error, "GRAPHQL_PARSE_FAILED", "MAX_TOKENS", limits.tokens);
      },
    ],
  }) as Plugin;
  return {
    onParse: tokens.onParse,
    onValidate({ addValidationRule }) {
      for (const rule of rules) addValidationRule(rule as ValidationRule);
    },
  };
}
