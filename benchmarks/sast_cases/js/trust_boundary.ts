// Held-out SAST benchmark cases: trust boundary violation (CWE-501). Scan input only.
import express, { Request, Response } from 'express';
import Hapi from '@hapi/hapi';
import Koa from 'koa';

const app = express();
const server = Hapi.server({ port: 3000 });
const koa = new Koa();
declare function authenticate(u: string, p: string): Promise<{ id: string } | null>;

app.get('/prefs', (req: Request, res: Response) => {
  (req.session as any).role = req.query.role; // case: trust-boundary vulnerable
  res.end();
});

app.post('/cart', (req: Request, res: Response) => {
  const { discount } = req.body;
  (req.session as any).discount = discount; // case: trust-boundary vulnerable
  res.end();
});

server.route({
  method: 'POST',
  path: '/fsp',
  handler: (request: any) => {
    request.yar.set('fspId', request.payload.fsp); // case: trust-boundary vulnerable
    return {};
  }
});

koa.use(async (ctx: any) => {
  ctx.session.isAdmin = ctx.request.body.admin; // case: trust-boundary vulnerable
  ctx.body = 'ok';
});

app.get('/impersonate', (req: Request, res: Response) => {
  Object.assign(req.session as any, { userId: req.headers['x-user-id'] }); // case: trust-boundary vulnerable
  res.end();
});

app.post('/login', async (req: Request, res: Response) => {
  const user = await authenticate(req.body.u, req.body.p);
  if (!user) return res.status(401).end();
  (req.session as any).userId = user.id; // case: trust-boundary safe
  return res.end();
});

app.get('/visit', (req: Request, res: Response) => {
  (req.session as any).visits = ((req.session as any).visits || 0) + 1; // case: trust-boundary safe
  res.end();
});

server.route({
  method: 'GET',
  path: '/theme',
  handler: (request: any) => {
    const theme = request.query.theme === 'dark' ? 'dark' : 'light';
    request.yar.set('theme', theme); // case: trust-boundary safe
    return {};
  }
});

koa.use(async (ctx: any) => {
  ctx.session = null; // case: trust-boundary safe
  ctx.body = 'bye';
});

app.get('/lang', (req: Request, res: Response) => {
  (req.session as any).lang = 'en'; // case: trust-boundary safe
  res.redirect('/');
});
