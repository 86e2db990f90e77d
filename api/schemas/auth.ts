import { z } from 'zod';

/** The seed's client posts a form with `username` and `password`; JSON works too, and `email` is accepted for `username`. */
export const LoginBody = z
  .object({
    username: z.string().trim().min(1).max(200).optional(),
    email: z.string().trim().min(1).max(200).optional(),
    password: z.string().min(1).max(200),
    grant_type: z.string().max(50).optional(),
    scope: z.string().max(500).optional(),
  })
  .refine((b) => b.username !== undefined || b.email !== undefined, { message: 'username is required', path: ['username'] })
  .meta({ id: 'LoginBody', example: { username: 'test@example.com', password: 'testpass' } });

export const RefreshBody = z.strictObject({ refresh_token: z.string().min(20).max(200) }).meta({ id: 'RefreshBody' });

export const LogoutBody = z.strictObject({ refresh_token: z.string().min(20).max(200).optional() }).optional();

export const TokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal('bearer'),
    expires_in: z.number().meta({ description: 'Seconds until the access token expires' }),
    refresh_token: z.string(),
  })
  .meta({ id: 'TokenResponse' });
