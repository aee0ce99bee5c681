import { createRouter } from "../../http/router.ts";
import * as handlers from "./handlers.ts";
import * as routes from "./routes.ts";

/** Membership routes. */
export const membersRouter = () =>
  createRouter()
    .openapi(routes.list, handlers.list)
    .openapi(routes.put, handlers.put)
    .openapi(routes.remove, handlers.remove);
