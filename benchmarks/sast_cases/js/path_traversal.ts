// Held-out SAST benchmark cases: path traversal (CWE-22). Scan input only.
import express, { Request, Response } from 'express';
import Hapi from '@hapi/hapi';
import Koa from 'koa';
import fs from 'fs';
import path from 'path';

const app = express();
const server = Hapi.server({ port: 3000 });
const koa = new Koa();
const UPLOADS = '/srv/uploads';

app.get('/download', (req: Request, res: Response) => {
  res.sendFile(path.join(UPLOADS, req.query.file as string)); // case: path-traversal vulnerable
});

app.get('/read', (req: Request, res: Response) => {
  const { name } = req.query;
  fs.readFile(UPLOADS + '/' + name, 'utf8', (err, data) => res.send(data)); // case: path-traversal vulnerable
});

server.route({
  method: 'GET',
  path: '/reports/{name}',
  handler: (request: Hapi.Request, h: Hapi.ResponseToolkit) => {
    const stream = fs.createReadStream(`/srv/reports/${request.params.name}`); // case: path-traversal vulnerable
    return h.response(stream);
  }
});

koa.use(async (ctx) => {
  const file = ctx.query.file as string;
  ctx.body = await fs.promises.readFile(path.resolve(UPLOADS, file)); // case: path-traversal vulnerable
});

app.post('/upload', (req: Request, res: Response) => {
  const target = path.join(UPLOADS, req.body.filename);
  fs.writeFileSync(target, req.body.content); // case: path-traversal vulnerable
  res.end();
});

app.get('/download2', (req: Request, res: Response) => {
  res.sendFile(req.query.file as string, { root: UPLOADS }); // case: path-traversal safe
});

app.get('/read2', (req: Request, res: Response) => {
  const name = path.basename(String(req.query.name));
  fs.readFile(path.join(UPLOADS, name), 'utf8', (err, data) => res.send(data)); // case: path-traversal safe
});

server.route({
  method: 'GET',
  path: '/reports2/{name}',
  handler: (request: Hapi.Request, h: Hapi.ResponseToolkit) => {
    const full = path.resolve('/srv/reports', request.params.name);
    if (!full.startsWith('/srv/reports/')) {
      return h.response('bad').code(400);
    }
    return h.response(fs.createReadStream(full)); // case: path-traversal safe
  }
});

koa.use(async (ctx) => {
  ctx.body = await fs.promises.readFile(path.join(__dirname, 'static', 'terms.txt')); // case: path-traversal safe
});

app.post('/upload2', (req: Request, res: Response) => {
  const files: Record<string, string> = { avatar: 'avatar.png', cv: 'cv.pdf' };
  fs.writeFileSync(path.join(UPLOADS, files[req.body.kind] ?? 'other.bin'), req.body.content); // case: path-traversal safe
  res.end();
});
