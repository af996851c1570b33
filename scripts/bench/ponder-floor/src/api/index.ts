// Ponder requires an API file; the floor serves only Ponder's own /ready and /status.
import { Hono } from "hono";

export default new Hono();
