import { createRouter } from "../../http/router.ts";
import { openapiHeadersCheckedElsewhere } from "../headers_checked_elsewhere.ts";
import * as compareHandlers from "./compare_handler.ts";
import * as compareRoutes from "./compare_routes.ts";
import * as handlers from "./handlers.ts";
import { load, sqlText } from "./load_handler.ts";
import { metrics } from "./metrics_handler.ts";
import * as routes from "./routes.ts";

/** The capture operations. */
export const capturesRouter = () => {
  const router = createRouter().openapi(routes.list, handlers.list);
  // Idempotency-Key is checked by routes.create's own middleware (routes/idempotency.ts), and
  // If-None-Match by handlers.get itself (checkDeclaredHeaders).
  openapiHeadersCheckedElsewhere(router, routes.create, handlers.create);
  openapiHeadersCheckedElsewhere(router, routes.get, handlers.get);
  return router
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
};
