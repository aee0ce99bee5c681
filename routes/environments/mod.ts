import { createRouter } from "../../http/router.ts";
import * as handlers from "./handlers.ts";
import * as routes from "./routes.ts";

/** Environment routes. */
export const environmentsRouter = () =>
  createRouter()
    .openapi(routes.list, handlers.list)
    .openapi(routes.create, handlers.create)
    .openapi(routes.get, handlers.get)
    .openapi(routes.update, handlers.update)
    .openapi(routes.remove, handlers.remove);
