import { createRouter } from "../../http/router.ts";
import { openapiWithMiddlewareCheckedHeaders } from "../middleware_checked_headers.ts";
import * as compareHandlers from "./compare_handler.ts";
import * as compareRoutes from "./compare_routes.ts";
import * as handlers from "./handlers.ts";
import { load, sqlText } from "./load_handler.ts";
import { metrics } from "./metrics_handler.ts";
import * as routes from "./routes.ts";

/** The capture operations. */
export const capturesRouter = () =>
  // Idempotency-Key is checked by routes.create's own middleware (routes/idempotency.ts), and
  // If-None-Match by handlers.get itself (checkDeclaredHeaders).
  openapiWithMiddlewareCheckedHeaders(
    openapiWithMiddlewareCheckedHeaders(
      createRouter().openapi(routes.list, handlers.list),
      routes.create,
      handlers.create,
    ),
    routes.get,
    handlers.get,
  )
    .openapi(routes.put, handlers.put)
    .openapi(routes.patch, handlers.patch)
    .openapi(routes.stop, handlers.stop)
    .openapi(routes.remove, handlers.remove)
    .openapi(routes.metrics, metrics)
    .openapi(routes.load, load)
    .openapi(routes.sqlText, sqlText)
    .openapi(compareRoutes.metricsSvg, compareHandlers.metricsSvg)
    .openapi(compareRoutes.compare, compareHandlers.compare)
    .openapi(compareRoutes.compareSvg, compareHandlers.compareSvg);
