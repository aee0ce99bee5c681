/**
 * The committed OpenAPI document as test data: its operations, and ajv validators (JSON Schema
 * 2020-12, as OpenAPI 3.1 uses) for any schema in it, `#/components/...` refs included.
 */
import { addFormats, Ajv2020, type ValidateFunction } from "../../dev_deps/ajv.ts";

/** A JSON Schema object as the document spells it. */
// deno-lint-ignore no-explicit-any -- schemas are arbitrary JSON read from the document
export type Schema = Record<string, any>;

/** One declared parameter. */
export interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema: Schema;
}

/** One declared response: its media types and headers. */
export interface ResponseSpec {
  content?: Record<string, { schema: Schema }>;
  headers?: Record<string, unknown>;
}

/** One operation (path + method) of the document. */
export interface Operation {
  operationId: string;
  method: string;
  path: string;
  parameters: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, ResponseSpec>;
}

const DOC_ID = "capwatch-openapi";

/** Loads the document and prepares validators. */
export async function loadContract(
  file = new URL("../../openapi/openapi.json", import.meta.url),
) {
  const doc = JSON.parse(await Deno.readTextFile(file));
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  // ajv-formats ships CommonJS: under Deno the default import is the module, the plugin its default.
  addFormats.default(ajv);
  // Only the components become a schema; refs elsewhere are rewritten to point into it.
  ajv.addSchema({ $id: DOC_ID, components: doc.components });

  const operations: Operation[] = [];
  for (const [path, item] of Object.entries<Record<string, Schema>>(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!["get", "put", "post", "delete", "patch", "head", "options"].includes(method)) continue;
      operations.push({
        operationId: op.operationId,
        method: method.toUpperCase(),
        path,
        parameters: op.parameters ?? [],
        requestBody: op.requestBody,
        responses: op.responses,
      });
    }
  }

  /** A schema with its top-level (and nested) refs replaced by the component they name. */
  const resolve = (schema: Schema): Schema => {
    if (typeof schema?.$ref === "string") {
      const name = schema.$ref.replace("#/components/schemas/", "");
      return resolve(doc.components.schemas[name]);
    }
    return schema;
  };

  const cache = new Map<string, ValidateFunction>();
  /** A validator for `schema`, compiled once. */
  const validator = (schema: Schema): ValidateFunction => {
    const key = JSON.stringify(schema);
    let validate = cache.get(key);
    if (!validate) {
      validate = ajv.compile(
        JSON.parse(key.replaceAll('"#/components/', `"${DOC_ID}#/components/`)),
      );
      cache.set(key, validate);
    }
    return validate;
  };

  /** Errors of `value` against `schema`, as one readable line, or null when it is valid. */
  const check = (schema: Schema, value: unknown): string | null => {
    const validate = validator(schema);
    if (validate(value)) return null;
    return ajv.errorsText(validate.errors, { dataVar: "body" });
  };

  return { doc, operations, resolve, check, problem: doc.components.schemas.Problem as Schema };
}

export type Contract = Awaited<ReturnType<typeof loadContract>>;
