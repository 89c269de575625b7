// Held-out SAST benchmark cases: insecure cookies (CWE-614 / CWE-1004). Scan input only.
import express, { Request, Response } from 'express';
import session from 'express-session';
import Hapi from '@hapi/hapi';
import crypto from 'crypto';

const app = express();
const server = Hapi.server({ port: 3000 });

app.post('/login', (req: Request, res: Response) => {
  res.cookie('sid', crypto.randomBytes(32).toString('hex')); // case: insecure-cookie vulnerable
  res.end();
});

app.post('/remember', (req: Request, res: Response) => {
  res.cookie('remember', crypto.randomUUID(), { httpOnly: false, secure: true }); // case: insecure-cookie vulnerable
  res.end();
});

app.use(session({ secret: process.env.SESSION_SECRET as string, cookie: { secure: false, httpOnly: true } })); // case: insecure-cookie vulnerable

server.state('session', { isSecure: false, isHttpOnly: true, encoding: 'base64json' }); // case: insecure-cookie vulnerable

server.route({
  method: 'POST',
  path: '/token',
  handler: (request: Hapi.Request, h: Hapi.ResponseToolkit) => {
    return h.response('ok').state('token', crypto.randomUUID(), { isHttpOnly: false, isSecure: true }); // case: insecure-cookie vulnerable
  }
});

app.post('/login2', (req: Request, res: Response) => {
  res.cookie('sid', crypto.randomBytes(32).toString('hex'), { httpOnly: true, secure: true, sameSite: 'strict' }); // case: insecure-cookie safe
  res.end();
});

app.post('/remember2', (req: Request, res: Response) => {
  res.cookie('remember', crypto.randomUUID(), { httpOnly: true, secure: true, sameSite: 'lax', maxAge: 86400000 }); // case: insecure-cookie safe
  res.end();
});

app.use(session({ secret: process.env.SESSION_SECRET as string, cookie: { secure: true, httpOnly: true, sameSite: 'strict' } })); // case: insecure-cookie safe

server.state('session2', { isSecure: true, isHttpOnly: true, isSameSite: 'Strict', encoding: 'base64json' }); // case: insecure-cookie safe

app.post('/logout', (req: Request, res: Response) => {
  res.clearCookie('sid'); // case: insecure-cookie safe
  res.end();
});
