// Held-out SAST benchmark cases: cross-site scripting (CWE-79). Scan input only.
import express, { Request, Response } from 'express';
import Hapi from '@hapi/hapi';
import Koa from 'koa';
import escapeHtml from 'escape-html';
import nunjucks from 'nunjucks';

const app = express();
const server = Hapi.server({ port: 3000 });
const koa = new Koa();

app.get('/hello', (req: Request, res: Response) => {
  res.send(`<h1>Hello ${req.query.name}</h1>`); // case: xss vulnerable
});

server.route({
  method: 'GET',
  path: '/search',
  handler: (request: Hapi.Request, h: Hapi.ResponseToolkit) => {
    return h.response('<p>Results for ' + request.query.q + '</p>').type('text/html'); // case: xss vulnerable
  }
});

koa.use(async (ctx) => {
  const { msg } = ctx.query;
  ctx.body = `<div class="flash">${msg}</div>`; // case: xss vulnerable
});

app.get('/profile', (req: Request, res: Response) => {
  const bio = req.query.bio as string;
  res.write('<section>' + bio + '</section>'); // case: xss vulnerable
  res.end();
});

const env = nunjucks.configure('views', { autoescape: false }); // case: xss vulnerable

app.get('/hello2', (req: Request, res: Response) => {
  res.send(`<h1>Hello ${escapeHtml(String(req.query.name))}</h1>`); // case: xss safe
});

server.route({
  method: 'GET',
  path: '/search2',
  handler: (request: Hapi.Request, h: Hapi.ResponseToolkit) => {
    return h.response({ results: [], q: request.query.q }); // case: xss safe
  }
});

koa.use(async (ctx) => {
  ctx.body = { flash: ctx.query.msg }; // case: xss safe
});

app.get('/profile2', (req: Request, res: Response) => {
  res.render('profile', { bio: req.query.bio }); // case: xss safe
});

const env2 = nunjucks.configure('views', { autoescape: true }); // case: xss safe
export { env, env2 };
